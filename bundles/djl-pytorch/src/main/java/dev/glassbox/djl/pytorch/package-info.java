/**
 * DJL's PyTorch engine started offline ({@link dev.glassbox.djl.pytorch.PyTorchLoader}), its
 * operator profiler ({@link dev.glassbox.djl.pytorch.OperatorTrace}), its backward pass from a
 * given gradient ({@link dev.glassbox.djl.pytorch.Autograd}) and TorchScript functions compiled
 * from source ({@link dev.glassbox.djl.pytorch.ScriptedFunction}). This bundle also exports
 * DJL's API packages ({@code ai.djl.*}, at DJL's version); the engine, its JNI glue, gson, jna
 * and SLF4J stay private to it.
 */
@Export
@Version("1.3.0")
package dev.glassbox.djl.pytorch;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
