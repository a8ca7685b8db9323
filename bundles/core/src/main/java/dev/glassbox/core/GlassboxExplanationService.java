package dev.glassbox.core;

import dev.glassbox.api.GlassboxException;
import dev.glassbox.api.InvalidInputException;
import dev.glassbox.api.InvalidOptionException;
import dev.glassbox.api.UnsupportedFeatureException;
import dev.glassbox.api.backend.Backend;
import dev.glassbox.api.backend.PreparedModel;
import dev.glassbox.api.explain.BackwardObserver;
import dev.glassbox.api.explain.ExplainRequest;
import dev.glassbox.api.explain.Explainer;
import dev.glassbox.api.explain.Explanation;
import dev.glassbox.api.explain.Options;
import dev.glassbox.api.explain.Target;
import dev.glassbox.api.explain.Trace;
import dev.glassbox.api.graph.Graph;
import dev.glassbox.api.graph.ModelLoader;
import dev.glassbox.api.service.BackendInfo;
import dev.glassbox.api.service.ExplainerInfo;
import dev.glassbox.api.service.ExplanationQuery;
import dev.glassbox.api.service.ExplanationService;
import dev.glassbox.api.tensor.HostTensor;
import dev.glassbox.api.tensor.Shape;
import dev.glassbox.api.tensor.TensorScope;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import org.osgi.framework.ServiceReference;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;

/**
 * The runtime's front door. Backends, loaders and explainers are whatever services are bound
 * at the moment of a call (whiteboard); each request runs on its own thread with a deadline,
 * so an explainer that hangs or throws fails only its own request.
 *
 * <p>A request that names no backend gets the one configured under {@value #PID}
 * ({@code backend=djl}, e.g. a file {@code dev.glassbox.runtime.config} in the deploy
 * directory), else the available backend of highest {@code service.ranking} (cudnn, then djl, then java).
 */
@Component(service = ExplanationService.class, configurationPid = GlassboxExplanationService.PID,
        configurationPolicy = ConfigurationPolicy.OPTIONAL)
public final class GlassboxExplanationService implements ExplanationService {
    static final String PID = "dev.glassbox.runtime";

    @interface Config {
        /** The backend of requests that name none; empty for the best available. */
        String backend() default "";
    }

    /** Largest model file read into memory; ONNX's protobuf limit is 2 GiB anyway. */
    private static final long MAX_MODEL_BYTES = Integer.MAX_VALUE - 8;

    private final Map<Long, Registered<Backend>> backends = new ConcurrentHashMap<>();
    private final Map<Long, Registered<Explainer>> explainers = new ConcurrentHashMap<>();
    private final Map<Long, Registered<ModelLoader>> loaders = new ConcurrentHashMap<>();
    private final PreparedModels prepared = new PreparedModels();
    private ExecutorService requests;
    private volatile String defaultBackend = "";

    @Activate
    void activate(Config config) {
        modified(config);
        requests = RequestThreads.start();
    }

    /** A changed configuration applies to the next request; prepared models stay. */
    @Modified
    void modified(Config config) {
        defaultBackend = config.backend().trim();
    }

    @Deactivate
    void deactivate() {
        requests.shutdownNow();
        prepared.closeAll();
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void bindBackend(Backend backend, ServiceReference<Backend> ref) {
        Registered<Backend> r = Registered.of(backend, ref);
        backends.put(r.serviceId(), r);
    }

    void unbindBackend(Backend backend, ServiceReference<Backend> ref) {
        backends.values().removeIf(r -> r.service() == backend);
        prepared.forget(backend);
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void bindExplainer(Explainer explainer, ServiceReference<Explainer> ref) {
        Registered<Explainer> r = Registered.of(explainer, ref);
        explainers.put(r.serviceId(), r);
    }

    void unbindExplainer(Explainer explainer, ServiceReference<Explainer> ref) {
        explainers.values().removeIf(r -> r.service() == explainer);
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void bindLoader(ModelLoader loader, ServiceReference<ModelLoader> ref) {
        Registered<ModelLoader> r = Registered.of(loader, ref);
        loaders.put(r.serviceId(), r);
    }

    void unbindLoader(ModelLoader loader, ServiceReference<ModelLoader> ref) {
        loaders.values().removeIf(r -> r.service() == loader);
    }

    @Override
    public Optional<String> defaultBackend() {
        try {
            return Optional.of(backend(null).id());
        } catch (UnsupportedFeatureException e) {
            return Optional.empty();
        }
    }

    @Override
    public List<BackendInfo> backends() {
        return byRanking(backends).stream()
                .map(r -> new BackendInfo(r.service().id(), r.service().description(), r.service().availability(),
                        r.ranking()))
                .toList();
    }

    @Override
    public List<ExplainerInfo> explainers() {
        return explainers.values().stream()
                .map(r -> new ExplainerInfo(r.service().id(), r.service().description(), r.service().options(),
                        r.bundle()))
                .sorted(Comparator.comparing(ExplainerInfo::id))
                .toList();
    }

    @Override
    public List<String> modelFormats() {
        return byRanking(loaders).stream().map(r -> r.service().format()).distinct().toList();
    }

    @Override
    public List<String> operators(String format) {
        return byRanking(loaders).stream()
                .map(Registered::service)
                .filter(l -> l.format().equals(format))
                .findFirst()
                .map(l -> l.operators().stream().sorted().toList())
                .orElse(List.of());
    }

    @Override
    public Graph loadModel(Path file) {
        String name = file.getFileName() == null ? file.toString() : file.getFileName().toString();
        ModelLoader loader = byRanking(loaders).stream()
                .map(Registered::service)
                .filter(l -> l.accepts(name))
                .findFirst()
                .orElseThrow(() -> new UnsupportedFeatureException(
                        "no model loader accepts this file (installed formats: " + String.join(", ", modelFormats()) + ")",
                        file.toString()));
        byte[] bytes;
        try {
            if (Files.isDirectory(file)) {
                throw new InvalidInputException("model path is a directory", file.toString());
            }
            if (Files.size(file) > MAX_MODEL_BYTES) {
                throw new InvalidInputException("model file larger than 2 GiB", file.toString());
            }
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new InvalidInputException("model file not found", file.toString(), e);
        } catch (IOException e) {
            throw new InvalidInputException("cannot read model file: " + e.getMessage(), file.toString(), e);
        }
        return loader.load(bytes, file.toString());
    }

    @Override
    public HostTensor predict(Graph model, HostTensor input, String backend) {
        String output = model.output(); // a model with several outputs fails here, before any work
        return outputs(model, input, backend).get(output);
    }

    @Override
    public Map<String, HostTensor> outputs(Graph model, HostTensor input, String backend) {
        HostTensor batched = batched(model, input);
        Deadline deadline = new Deadline(ExplanationQuery.DEFAULT_TIMEOUT, "predict");
        return run(deadline, () -> {
            PreparedModel pm = prepared.get(model, backend(backend));
            try (TensorScope scope = pm.openScope()) {
                Trace trace = new GraphPropagator(deadline).forward(pm, pm.kernels().upload(batched, scope), scope);
                Map<String, HostTensor> out = new LinkedHashMap<>();
                for (String name : model.outputs()) {
                    out.put(name, trace.value(name).toHost());
                }
                return Collections.unmodifiableMap(out);
            }
        });
    }

    @Override
    public Explanation explain(Graph model, ExplanationQuery query) {
        Registered<Explainer> registered = explainers.values().stream()
                .filter(r -> r.service().id().equals(query.method()))
                .findFirst()
                .orElseThrow(() -> new UnsupportedFeatureException("unknown method " + query.method()
                        + " (installed: " + explainers().stream().map(ExplainerInfo::id).collect(Collectors.joining(", "))
                        + ")", "--method"));
        Explainer explainer = registered.service();
        Options options = Options.parse(explainer.options(), query.options(), query.method());
        HostTensor input = batched(model, query.input());
        Backend backend = backend(query.backend());
        Graph logits = prepared.explained(model, query.target());
        Deadline deadline = new Deadline(query.timeout(), query.method());
        long start = System.nanoTime();
        return run(deadline, () -> {
            Graph explained;
            try {
                explained = explainer.rewrite(logits, options);
            } catch (GlassboxException e) {
                throw e;
            } catch (RuntimeException e) {
                throw new IllegalStateException("explainer " + explainer.id() + " (bundle " + registered.bundle()
                        + ") failed to rewrite the graph: " + e, e);
            }
            PreparedModel pm = prepared.get(explained, backend);
            try (TensorScope scope = pm.openScope()) {
                GraphPropagator propagator = new GraphPropagator(deadline);
                Trace trace = propagator.forward(pm, pm.kernels().upload(input, scope), scope);
                HostTensor out = trace.output().toHost();
                if (FeatureTargets.isFeature(query.target())) {
                    FeatureTargets.checkSelected(query.target(), model, trace);
                }
                int[] targets = resolveTargets(query.target(), out);
                Map<String, HostTensor> perLayer = new LinkedHashMap<>();
                BackwardObserver observer = query.perLayer()
                        ? (value, total) -> perLayer.put(value, total.toHost()) : BackwardObserver.NONE;
                HostTensor attribution;
                try {
                    attribution = explainer.explain(
                            new RequestContext(pm, propagator, trace, scope, deadline, query.progress(), observer),
                            new ExplainRequest(input, targets, options));
                } catch (GlassboxException e) {
                    throw e;
                } catch (RuntimeException e) {
                    throw new IllegalStateException("explainer " + explainer.id() + " (bundle " + registered.bundle()
                            + ") failed: " + e, e);
                }
                if (attribution == null || !attribution.shape().equals(input.shape())) {
                    throw new IllegalStateException("explainer " + explainer.id() + " (bundle " + registered.bundle()
                            + ") returned " + (attribution == null ? "nothing" : attribution.shape())
                            + " for input " + input.shape());
                }
                if (query.perLayer() && perLayer.isEmpty()) {
                    throw new UnsupportedFeatureException("method " + explainer.id()
                            + " does not report per-layer results", "--per-layer");
                }
                return new Explanation(explainer.id(), pm.backendId(), attribution, targets, out,
                        Duration.ofNanos(System.nanoTime() - start), perLayer);
            }
        });
    }

    /** Runs one request on its own thread and waits at most until its deadline. */
    private <T> T run(Deadline deadline, java.util.concurrent.Callable<T> work) {
        Future<T> future = requests.submit(work);
        try {
            return future.get(deadline.remainingNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            deadline.abandon();
            future.cancel(true);
            throw deadline.exceeded();
        } catch (InterruptedException e) {
            deadline.abandon();
            future.cancel(true);
            Thread.currentThread().interrupt();
            throw new CancellationException("interrupted while waiting for the request");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new IllegalStateException(e.getCause());
        }
    }

    private Backend backend(String id) {
        List<Registered<Backend>> all = byRanking(backends);
        String configured = defaultBackend;
        if (id == null && !configured.isEmpty()) {
            try {
                return backend(configured);
            } catch (UnsupportedFeatureException e) {
                throw new UnsupportedFeatureException("configured default: " + e.getMessage()
                        + "; change or remove it, or pass --backend", "configuration " + PID, e);
            }
        }
        if (id == null) {
            return all.stream().map(Registered::service).filter(b -> b.availability().isAvailable()).findFirst()
                    .orElseThrow(() -> new UnsupportedFeatureException("no backend available (installed: "
                            + all.stream().map(r -> r.service().id() + " " + r.service().availability())
                                    .collect(Collectors.joining(", ")) + ")", "--backend"));
        }
        Backend b = all.stream().map(Registered::service).filter(s -> s.id().equals(id)).findFirst()
                .orElseThrow(() -> new UnsupportedFeatureException("unknown backend " + id + " (installed: "
                        + all.stream().map(r -> r.service().id()).collect(Collectors.joining(", ")) + ")", "--backend"));
        if (!b.availability().isAvailable()) {
            throw new UnsupportedFeatureException("backend " + id + " is " + b.availability(), "--backend");
        }
        return b;
    }

    /** The input with a batch axis, or an error naming both shapes. */
    static HostTensor batched(Graph model, HostTensor input) {
        Shape item = model.input().itemShape();
        Shape given = input.shape();
        if (given.equals(item)) {
            return input.reshape(item.withBatch(1));
        }
        if (given.rank() == item.rank() + 1 && given.dim(0) > 0 && given.withoutBatch().equals(item)) {
            return input;
        }
        throw new InvalidInputException("input shape " + given + " does not match the model input " + item
                + " (or [N, " + item.toString().substring(1) + ")", "input " + model.input().name());
    }

    static int[] resolveTargets(Target target, HostTensor logits) {
        Shape s = logits.shape();
        int n = s.dim(0);
        int classes = s.size() / Math.max(n, 1);
        float[] v = logits.data();
        return switch (target) {
            case Target.Neuron f -> new int[n]; // the feature graph's single score
            case Target.Channel f -> new int[n];
            case Target.Predicted p -> {
                int[] out = new int[n];
                for (int i = 0; i < n; i++) {
                    int best = 0;
                    for (int c = 1; c < classes; c++) {
                        if (v[i * classes + c] > v[i * classes + best]) {
                            best = c;
                        }
                    }
                    out[i] = best;
                }
                yield out;
            }
            case Target.Classes c -> {
                int[] given = c.indices();
                if (given.length != 1 && given.length != n) {
                    throw new InvalidOptionException("expected 1 or " + n + " class indices, got " + given.length,
                            "--target");
                }
                int[] out = new int[n];
                for (int i = 0; i < n; i++) {
                    out[i] = given.length == 1 ? given[0] : given[i];
                    if (out[i] < 0 || out[i] >= classes) {
                        throw new InvalidOptionException("class " + out[i] + " is out of range [0, " + classes + ")",
                                "--target");
                    }
                }
                yield out;
            }
        };
    }

    private static <S> List<Registered<S>> byRanking(Map<Long, Registered<S>> services) {
        return services.values().stream()
                .sorted(Comparator.<Registered<S>>comparingInt(Registered::ranking).reversed()
                        .thenComparingLong(Registered::serviceId))
                .toList();
    }
}
