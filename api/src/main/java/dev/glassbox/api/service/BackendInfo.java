package dev.glassbox.api.service;

import dev.glassbox.api.backend.Availability;

/** An installed backend as listings show it; {@code ranking} orders the default choice. */
public record BackendInfo(String id, String description, Availability availability, int ranking) {
}
