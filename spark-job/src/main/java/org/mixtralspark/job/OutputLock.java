package org.mixtralspark.job;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStream;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;

/**
 * One run at a time on an output: a lock file created exclusively (O_EXCL on a local file system, HDFS's
 * create-without-overwrite elsewhere) that names its owner (run id, host, pid and the pid's start time).
 * <p>
 * A lock whose owner is alive, or may be, is never broken: a second run fails with a message naming the owner. It is
 * broken automatically only when its owner is provably dead: the same host, and that pid is gone or is now another
 * process (a different start time). A lock from another host needs {@code --break-lock}, given by a user who knows
 * the owner is gone. The holder checks before publishing that the lock is still its own ({@link #checkHeld()}), so a
 * run whose lock was broken never publishes.
 */
final class OutputLock implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(OutputLock.class);

    private final FileSystem fs;
    private final Path path;
    private final Owner me;
    private boolean held;

    private OutputLock(FileSystem fs, Path path, Owner me) {
        this.fs = fs;
        this.path = path;
        this.me = me;
    }

    /** Who holds a lock: what the lock file says. */
    record Owner(String runId, String host, long pid, String pidStarted, String since, String output) {

        static Owner current(String runId, String output) {
            ProcessHandle self = ProcessHandle.current();
            return new Owner(runId, hostName(), self.pid(), startOf(self), Instant.now().toString(), output);
        }

        String text() {
            return "run_id=" + runId + "\nhost=" + host + "\npid=" + pid + "\npid_started=" + pidStarted
                    + "\nsince=" + since + "\noutput=" + output.replace("\n", " ") + "\n";
        }

        static Owner parse(String text) {
            Properties p = new Properties();
            try {
                p.load(new StringReader(text));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            long pid;
            try {
                pid = Long.parseLong(p.getProperty("pid", "-1"));
            } catch (NumberFormatException e) {
                pid = -1;
            }
            return new Owner(p.getProperty("run_id", "?"), p.getProperty("host", "?"), pid,
                    p.getProperty("pid_started", ""), p.getProperty("since", "?"), p.getProperty("output", "?"));
        }

        /**
         * Dead for certain: on this host, and its pid is gone or belongs to a process started at another time (the pid
         * was reused). Anything we cannot prove (another host, an unreadable start time) counts as alive.
         */
        boolean provablyDead() {
            if (!host.equals(hostName()) || pid <= 0) {
                return false;
            }
            Optional<ProcessHandle> h = ProcessHandle.of(pid);
            if (h.isEmpty() || !h.get().isAlive()) {
                return true;
            }
            String started = startOf(h.get());
            return !started.isEmpty() && !pidStarted.isEmpty() && !started.equals(pidStarted);
        }

        String describe() {
            return "run " + runId + " (pid " + pid + " on " + host + ", since " + since + ")";
        }
    }

    /**
     * Takes the lock at {@code path} for run {@code runId}, or throws {@link JobException} naming its holder. A stale
     * lock (owner provably dead) is broken and logged; with {@code breakLock} any existing lock is.
     */
    static OutputLock acquire(Configuration conf, Path path, String runId, String output, boolean breakLock) {
        try {
            FileSystem fs = path.getFileSystem(conf);
            fs.mkdirs(path.getParent());
            OutputLock lock = new OutputLock(fs, path, Owner.current(runId, output));
            if (lock.tryCreate()) {
                return lock;
            }
            String seen = lock.readOrNull();
            if (seen == null) {
                // Released between our create and our read: one more try, then give up.
                if (lock.tryCreate()) {
                    return lock;
                }
                throw new JobException("another run took the lock " + path + " just now; try again later");
            }
            Owner holder = Owner.parse(seen);
            if (!breakLock && !holder.provablyDead()) {
                throw new JobException("the output " + output + " is in use by " + holder.describe()
                        + ": two runs on one output would interleave. Wait for it to end; if it is dead (e.g. it ran "
                        + "on another host), rerun with --break-lock (lock file " + path + ")");
            }
            // Delete only the lock we looked at; if another run replaced it meanwhile, that run wins.
            String again = lock.readOrNull();
            if (seen.equals(again)) {
                fs.delete(path, false);
            }
            LOG.warn("broke the lock {} of {}: {}", path, holder.describe(),
                    breakLock ? "--break-lock" : "that process is gone from this host");
            if (lock.tryCreate()) {
                return lock;
            }
            throw new JobException("the output " + output + ": another run took the lock " + path
                    + " while this one broke a stale lock; try again later");
        } catch (IOException e) {
            throw new JobException("cannot lock the output " + output + " (" + path + "): " + e.getMessage(), e);
        }
    }

    private boolean tryCreate() throws IOException {
        byte[] text = me.text().getBytes(StandardCharsets.UTF_8);
        if ("file".equals(fs.getUri().getScheme())) {
            // Hadoop's local create() checks and then opens (a race); the JDK's CREATE_NEW is O_EXCL.
            java.nio.file.Path local = java.nio.file.Path.of(fs.makeQualified(path).toUri());
            try {
                Files.write(local, text, java.nio.file.StandardOpenOption.CREATE_NEW,
                        java.nio.file.StandardOpenOption.WRITE);
            } catch (FileAlreadyExistsException e) {
                return false;
            }
        } else {
            try (OutputStream out = fs.create(path, false)) {
                out.write(text);
            } catch (org.apache.hadoop.fs.FileAlreadyExistsException e) {
                return false;
            } catch (IOException e) {
                if (fs.exists(path)) {
                    return false;
                }
                throw e;
            }
        }
        held = true;
        return true;
    }

    private String readOrNull() throws IOException {
        try (FSDataInputStream in = fs.open(path)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (java.io.FileNotFoundException e) {
            return null;
        }
    }

    /** Throws unless the lock file still names this run: called right before publishing. */
    void checkHeld() {
        String now;
        try {
            now = readOrNull();
        } catch (IOException e) {
            throw new JobException("cannot read the lock " + path + " before publishing: " + e.getMessage(), e);
        }
        if (!held || now == null || !Objects.equals(Owner.parse(now).runId(), me.runId())) {
            held = false;
            throw new JobException("the lock " + path + " of run " + me.runId() + " was broken or taken by "
                    + (now == null ? "nobody" : Owner.parse(now).describe())
                    + " while it ran: nothing was published (its staged files are left for the next run to remove)");
        }
    }

    String runId() {
        return me.runId();
    }

    Path path() {
        return path;
    }

    /** Removes the lock file if it still names this run. Idempotent. */
    @Override
    public void close() {
        if (!held) {
            return;
        }
        held = false;
        try {
            String now = readOrNull();
            if (now != null && Owner.parse(now).runId().equals(me.runId())) {
                fs.delete(path, false);
            }
        } catch (IOException e) {
            LOG.warn("could not remove the lock {}: {}", path, e.getMessage());
        }
    }

    private static String startOf(ProcessHandle h) {
        return h.info().startInstant().map(Instant::toString).orElse("");
    }

    private static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return Objects.requireNonNullElse(System.getenv("HOSTNAME"), "unknown-host");
        }
    }
}
