package dev.glassbox.backend.cudnn;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;

/**
 * One loaded native library and downcall handles to its functions, in jextract's style: each
 * binding class looks its functions up once, when it loads, so a missing function fails there
 * and not in the middle of a request. Libraries stay loaded for the life of the JVM (CUDA's
 * are never unloaded safely).
 */
@SuppressWarnings("restricted") // this is the binding layer: native access is its job
final class NativeLibrary {
    private static final Linker LINKER = Linker.nativeLinker();

    private final Path file;
    private final SymbolLookup lookup;

    private NativeLibrary(Path file, SymbolLookup lookup) {
        this.file = file;
        this.lookup = lookup;
    }

    /** @throws IllegalArgumentException if the file does not load */
    static NativeLibrary load(Path file) {
        return new NativeLibrary(file, SymbolLookup.libraryLookup(file, Arena.global()));
    }

    Path file() {
        return file;
    }

    /** @throws IllegalArgumentException if the library lacks the function */
    MethodHandle function(String name, FunctionDescriptor signature) {
        MemorySegment symbol = lookup.find(name)
                .orElseThrow(() -> new IllegalArgumentException("no function " + name + " in " + file));
        return LINKER.downcallHandle(symbol, signature);
    }

    /** A C string the library returned (a static message), or {@code fallback} for NULL. */
    static String string(MemorySegment text, String fallback) {
        return text.equals(MemorySegment.NULL) ? fallback : text.reinterpret(4096).getString(0);
    }

    /** Wraps what a downcall threw that is not already a {@link CudaException}. */
    static RuntimeException failure(String call, Throwable t) {
        if (t instanceof CudaException e) {
            return e;
        }
        if (t instanceof RuntimeException e) {
            return e;
        }
        return new IllegalStateException(call + " failed: " + t, t);
    }
}
