package dev.glassbox.api.backend;

/** Whether a backend can run here, and if not, why (for {@code glassbox list}). */
public sealed interface Availability {

    boolean isAvailable();

    record Available() implements Availability {
        @Override
        public boolean isAvailable() {
            return true;
        }

        @Override
        public String toString() {
            return "available";
        }
    }

    /** @param reason a human sentence, e.g. "no CUDA device (cudaGetDeviceCount returned 35)" */
    record Unavailable(String reason) implements Availability {
        @Override
        public boolean isAvailable() {
            return false;
        }

        @Override
        public String toString() {
            return "unavailable: " + reason;
        }
    }

    static Availability available() {
        return new Available();
    }

    static Availability unavailable(String reason) {
        return new Unavailable(reason);
    }
}
