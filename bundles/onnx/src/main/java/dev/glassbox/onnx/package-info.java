/**
 * The ONNX model loader: parses ONNX protobuf files with the embedded, shaded ONNX classes
 * and converts them into Glassbox graphs. Private to the bundle; other bundles see only the
 * {@link dev.glassbox.api.graph.ModelLoader} service.
 */
package dev.glassbox.onnx;
