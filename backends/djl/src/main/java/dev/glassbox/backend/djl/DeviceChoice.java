package dev.glassbox.backend.djl;

import java.util.Locale;

/**
 * Where the djl backend runs, as the {@code device} setting names it: {@code auto} (CUDA
 * device 0 when libtorch is the CUDA build and the device works, else the CPU), {@code cpu},
 * or {@code cuda} / {@code cuda:N} (that GPU, else the backend is unavailable with the reason).
 */
sealed interface DeviceChoice {
    String AUTO = "auto";

    record Auto() implements DeviceChoice {
    }

    record Cpu() implements DeviceChoice {
    }

    record Cuda(int index) implements DeviceChoice {
    }

    /** @throws IllegalArgumentException naming the setting and the values it takes */
    static DeviceChoice parse(String value) {
        String v = value.trim().toLowerCase(Locale.ROOT);
        if (v.equals(AUTO)) {
            return new Auto();
        }
        if (v.equals("cpu")) {
            return new Cpu();
        }
        if (v.equals("cuda")) {
            return new Cuda(0);
        }
        if (v.startsWith("cuda:")) {
            try {
                int index = Integer.parseInt(v.substring("cuda:".length()));
                if (index >= 0) {
                    return new Cuda(index);
                }
            } catch (NumberFormatException e) {
                // reported below with the accepted forms
            }
        }
        throw new IllegalArgumentException("unknown device '" + value + "' (" + DjlBackend.DEVICE_PROPERTY
                + ", or device in " + DjlBackend.PID + "): use auto, cpu, cuda or cuda:N");
    }
}
