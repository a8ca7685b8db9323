/**
 * The native cuDNN backend's foundation, bound with {@code java.lang.foreign} in jextract's
 * style (static downcall handles per function, looked up in a library found on a search path):
 * finding the CUDA libraries, the CUDA runtime calls that tell whether a device can be used,
 * and status codes turned into exceptions that name the call. Private to the bundle.
 */
package dev.glassbox.backend.cudnn;
