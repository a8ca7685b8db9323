/**
 * Files in and out of Glassbox: NumPy {@code .npy} arrays ({@link dev.glassbox.io.Npy}), PNG/JPEG
 * images as input tensors ({@link dev.glassbox.io.Images}), relevance heatmaps rendered to PNG
 * ({@link dev.glassbox.io.Heatmaps}), and whole-or-nothing file writes
 * ({@link dev.glassbox.io.AtomicFiles}).
 *
 * <p>Plain Java (only {@code java.desktop}'s ImageIO besides the Glassbox API): the command-line
 * launcher uses this package as an ordinary library outside OSGi. Bad input files raise
 * {@link dev.glassbox.api.InvalidInputException} naming the file.
 */
@Export
@Version("1.0.0")
package dev.glassbox.io;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
