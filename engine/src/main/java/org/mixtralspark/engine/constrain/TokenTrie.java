package org.mixtralspark.engine.constrain;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The tokens' byte strings as a trie, flattened into arrays, so that the tokens allowed in an automaton state are found
 * by one depth-first walk that steps the automaton once per trie edge and abandons a whole subtree as soon as the
 * automaton dies (the design of llguidance's token trie and of outlines' vocabulary index: tokens sharing a prefix
 * share its steps). Immutable.
 */
final class TokenTrie {

    // node 0 is the root; children of a node are contiguous, [firstChild, firstChild + childCount)
    private final byte[] label;      // (nodes,) the byte on the edge into the node
    private final int[] firstChild;  // (nodes,)
    private final int[] childCount;  // (nodes,)
    private final int[] tokenStart;  // (nodes + 1,) tokens ending at node i: tokens[tokenStart[i], tokenStart[i+1])
    private final int[] tokens;

    TokenTrie(byte[][] bytes) {
        Integer[] order = new Integer[bytes.length];
        int n = 0;
        for (int id = 0; id < bytes.length; id++) {
            if (bytes[id] != null && bytes[id].length > 0) {
                order[n++] = id;
            }
        }
        Integer[] ids = Arrays.copyOf(order, n);
        Arrays.sort(ids, (a, b) -> Arrays.compareUnsigned(bytes[a], bytes[b]));
        // breadth-first would need a queue of ranges; build a pointer trie first, then flatten breadth-first
        List<Node> all = new ArrayList<>();
        Node root = new Node((byte) 0);
        for (int id : ids) {
            Node cur = root;
            for (byte b : bytes[id]) {
                cur = cur.child(b);
            }
            cur.tokens.add(id);
        }
        all.add(root);
        for (int i = 0; i < all.size(); i++) {
            all.addAll(all.get(i).children);
        }
        int nodes = all.size();
        label = new byte[nodes];
        firstChild = new int[nodes];
        childCount = new int[nodes];
        tokenStart = new int[nodes + 1];
        List<Integer> flat = new ArrayList<>();
        int next = 1;
        for (int i = 0; i < nodes; i++) {
            Node node = all.get(i);
            label[i] = node.label;
            firstChild[i] = next;
            childCount[i] = node.children.size();
            next += node.children.size();
            tokenStart[i] = flat.size();
            flat.addAll(node.tokens);
        }
        tokenStart[nodes] = flat.size();
        tokens = flat.stream().mapToInt(Integer::intValue).toArray();
    }

    private static final class Node {
        final byte label;
        final List<Node> children = new ArrayList<>(2);
        final List<Integer> tokens = new ArrayList<>(1);

        Node(byte label) {
            this.label = label;
        }

        /** Input arrives sorted, so a new child is always the last one. */
        Node child(byte b) {
            if (!children.isEmpty() && children.get(children.size() - 1).label == b) {
                return children.get(children.size() - 1);
            }
            Node c = new Node(b);
            children.add(c);
            return c;
        }
    }

    int nodes() {
        return label.length;
    }

    /**
     * Sets in {@code allowed} the bit of every token whose bytes lead from {@code state} to a live state of
     * {@code grammar}, and returns how many there are. Work: one automaton step per trie edge below a live node.
     */
    int allowedFrom(Grammar grammar, int state, long[] allowed) {
        int count = 0;
        int[] nodeStack = new int[64];
        int[] stateStack = new int[64];
        int top = 0;
        nodeStack[0] = 0;
        stateStack[0] = state;
        top = 1;
        while (top > 0) {
            top--;
            int node = nodeStack[top];
            int s = stateStack[top];
            for (int c = firstChild[node], end = c + childCount[node]; c < end; c++) {
                int next = grammar.step(s, label[c]);
                if (next < 0) {
                    continue;
                }
                for (int k = tokenStart[c]; k < tokenStart[c + 1]; k++) {
                    int id = tokens[k];
                    allowed[id >>> 6] |= 1L << id;
                    count++;
                }
                if (childCount[c] > 0) {
                    if (top == nodeStack.length) {
                        nodeStack = Arrays.copyOf(nodeStack, top * 2);
                        stateStack = Arrays.copyOf(stateStack, top * 2);
                    }
                    nodeStack[top] = c;
                    stateStack[top] = next;
                    top++;
                }
            }
        }
        return count;
    }
}
