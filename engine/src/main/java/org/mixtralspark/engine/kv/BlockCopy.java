package org.mixtralspark.engine.kv;

/**
 * Copy-on-write of one KV block: before the step that writes into block {@code to}, the backend copies every
 * layer's keys and values of block {@code from} into it. Made by {@link BlockAllocator#makeWritable} when a table is
 * about to write into a block that forked tables share.
 *
 * @param from the shared block (left as it is for the tables that still hold it)
 * @param to   the table's own new block
 */
public record BlockCopy(int from, int to) {
}
