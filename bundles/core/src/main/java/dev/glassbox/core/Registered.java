package dev.glassbox.core;

import org.osgi.framework.Constants;
import org.osgi.framework.ServiceReference;

/** A service as bound, with what listings and the default choice need from its registration. */
record Registered<S>(S service, long serviceId, int ranking, String bundle) {

    static <S> Registered<S> of(S service, ServiceReference<S> ref) {
        Object r = ref.getProperty(Constants.SERVICE_RANKING);
        Object id = ref.getProperty(Constants.SERVICE_ID);
        return new Registered<>(service, id instanceof Long l ? l : -1L, r instanceof Integer i ? i : 0,
                ref.getBundle() == null ? "?" : ref.getBundle().getSymbolicName());
    }
}
