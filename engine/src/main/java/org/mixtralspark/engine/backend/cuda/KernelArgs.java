package org.mixtralspark.engine.backend.cuda;

import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;

import java.util.ArrayList;
import java.util.List;

/** The argument list of one kernel launch, in the kernel's parameter order ({@code cuLaunchKernel}'s kernelParams). */
final class KernelArgs {

    private static final long[] NULL = {0L};
    private final List<Pointer> args = new ArrayList<>(20);

    /** A device pointer; null passes nullptr. */
    KernelArgs ptr(CUdeviceptr p) {
        args.add(p == null ? Pointer.to(NULL) : Pointer.to(p));
        return this;
    }

    KernelArgs i32(int v) {
        args.add(Pointer.to(new int[] {v}));
        return this;
    }

    KernelArgs i64(long v) {
        args.add(Pointer.to(new long[] {v}));
        return this;
    }

    KernelArgs f32(float v) {
        args.add(Pointer.to(new float[] {v}));
        return this;
    }

    int size() {
        return args.size();
    }

    Pointer toPointer() {
        return Pointer.to(args.toArray(new Pointer[0]));
    }
}
