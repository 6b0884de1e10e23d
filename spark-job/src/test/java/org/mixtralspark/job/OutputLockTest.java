package org.mixtralspark.job;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The output lock on the local file system: exclusive, names its owner, broken only when the owner is provably dead. */
class OutputLockTest {

    private static final Configuration CONF = new Configuration();

    @TempDir
    java.nio.file.Path dir;

    private Path lockPath() {
        return new Path(dir.resolve("out/_mixtral/lock").toUri());
    }

    private void writeLock(String host, long pid, String pidStarted) throws Exception {
        java.nio.file.Path p = dir.resolve("out/_mixtral/lock");
        Files.createDirectories(p.getParent());
        Files.writeString(p, new OutputLock.Owner("run-of-someone-else", host, pid, pidStarted, "2026-01-01T00:00:00Z",
                "out").text(), StandardCharsets.UTF_8);
    }

    @Test
    void aSecondRunFailsNamingTheHolderAndTheLockIsGoneAfterClose() throws Exception {
        try (OutputLock first = OutputLock.acquire(CONF, lockPath(), "run-a", "out", false)) {
            JobException e = assertThrows(JobException.class,
                    () -> OutputLock.acquire(CONF, lockPath(), "run-b", "out", false));
            assertTrue(e.getMessage().contains("in use by run run-a (pid " + ProcessHandle.current().pid()),
                    e.getMessage());
            assertTrue(e.getMessage().contains("--break-lock"), e.getMessage());
            first.checkHeld();
        }
        assertFalse(Files.exists(dir.resolve("out/_mixtral/lock")));
        OutputLock.acquire(CONF, lockPath(), "run-c", "out", false).close();
    }

    @Test
    void ofManyRacingRunsExactlyOneGetsTheLock() throws Exception {
        int n = 8;
        ExecutorService pool = Executors.newFixedThreadPool(n);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<OutputLock>> tries = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String run = "run-" + i;
            tries.add(pool.submit(() -> {
                go.await();
                try {
                    return OutputLock.acquire(CONF, lockPath(), run, "out", false);
                } catch (JobException e) {
                    return null;
                }
            }));
        }
        go.countDown();
        int winners = 0;
        for (Future<OutputLock> f : tries) {
            if (f.get() != null) {
                winners++;
            }
        }
        pool.shutdown();
        assertEquals(1, winners);
    }

    @Test
    void aLockOfADeadProcessOnThisHostIsBroken() throws Exception {
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        writeLock(InetAddress.getLocalHost().getHostName(), gone.pid(), "");
        try (OutputLock lock = OutputLock.acquire(CONF, lockPath(), "run-new", "out", false)) {
            lock.checkHeld();
            assertTrue(Files.readString(dir.resolve("out/_mixtral/lock")).contains("run_id=run-new"));
        }
    }

    @Test
    void aLivePidThatIsAnotherProcessNowCountsAsDead() throws Exception {
        // Our own pid, but a start time that is not ours: the pid was reused, the owner is gone.
        writeLock(InetAddress.getLocalHost().getHostName(), ProcessHandle.current().pid(), "1999-01-01T00:00:00Z");
        OutputLock.acquire(CONF, lockPath(), "run-new", "out", false).close();
    }

    @Test
    void aLiveOwnerOrOneOnAnotherHostIsNeverBrokenWithoutTheFlag() throws Exception {
        ProcessHandle self = ProcessHandle.current();
        String started = self.info().startInstant().map(Object::toString).orElse("");
        writeLock(InetAddress.getLocalHost().getHostName(), self.pid(), started);
        assertThrows(JobException.class, () -> OutputLock.acquire(CONF, lockPath(), "run-new", "out", false));

        writeLock("some-other-host.example", 1, "");
        JobException e = assertThrows(JobException.class,
                () -> OutputLock.acquire(CONF, lockPath(), "run-new", "out", false));
        assertTrue(e.getMessage().contains("on some-other-host.example"), e.getMessage());

        try (OutputLock lock = OutputLock.acquire(CONF, lockPath(), "run-new", "out", true)) {
            lock.checkHeld();
        }
    }

    @Test
    void aRunWhoseLockWasTakenCannotPublishAndDoesNotRemoveTheNewLock() throws Exception {
        OutputLock mine = OutputLock.acquire(CONF, lockPath(), "run-a", "out", false);
        OutputLock theirs = OutputLock.acquire(CONF, lockPath(), "run-b", "out", true);
        JobException e = assertThrows(JobException.class, mine::checkHeld);
        assertTrue(e.getMessage().contains("nothing was published"), e.getMessage());
        mine.close();
        assertTrue(Files.readString(dir.resolve("out/_mixtral/lock")).contains("run_id=run-b"));
        theirs.checkHeld();
        theirs.close();
        assertFalse(Files.exists(dir.resolve("out/_mixtral/lock")));
    }
}
