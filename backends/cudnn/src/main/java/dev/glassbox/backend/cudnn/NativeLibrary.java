package dev.glassbox.backend.cudnn;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

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

    /** How a library turns a status other than success into an exception naming the call. */
    @FunctionalInterface
    interface StatusCheck {
        void check(String call, int status);
    }

    /** A downcall that returns a status (a lambda around {@code invokeExact}). */
    @FunctionalInterface
    interface Call {
        int invoke() throws Throwable;
    }

    /** A downcall that returns a status and writes its result through {@code out}; {@code arena} is for other arguments. */
    @FunctionalInterface
    interface OutCall {
        int invoke(MemorySegment out, Arena arena) throws Throwable;
    }

    /** Runs {@code f}; a status other than success becomes {@code check}'s exception. */
    static void call(String name, StatusCheck check, Call f) {
        int status;
        try {
            status = f.invoke();
        } catch (Throwable t) {
            throw failure(name, t);
        }
        check.check(name, status);
    }

    /** Runs {@code f} with a {@code long} (a handle or size) to write; returns it. */
    static long longOut(String name, StatusCheck check, OutCall f) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_LONG);
            call(name, check, () -> f.invoke(out, arena));
            return out.get(JAVA_LONG, 0);
        }
    }

    /** Runs {@code f} with an {@code int} to write; returns it. */
    static int intOut(String name, StatusCheck check, OutCall f) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_INT);
            call(name, check, () -> f.invoke(out, arena));
            return out.get(JAVA_INT, 0);
        }
    }

    /** What a downcall threw, as a RuntimeException naming the call. */
    static RuntimeException failure(String call, Throwable t) {
        return t instanceof RuntimeException e ? e : new IllegalStateException(call + " failed: " + t, t);
    }
}
