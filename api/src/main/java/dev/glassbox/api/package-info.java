/**
 * Glassbox: explanations for neural networks on the JVM.
 *
 * <p>This root package holds the exceptions every part of Glassbox throws. Each says what is at
 * fault ({@link GlassboxException#getMessage()}) and where ({@link GlassboxException#where()}):
 * a file, a node, an op or an option. The command line maps them to its exit codes.
 * The SPI lives in the sub-packages: {@code tensor}, {@code graph}, {@code backend},
 * {@code explain} and {@code service}.
 */
@Export
@Version("1.0.0")
package dev.glassbox.api;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
