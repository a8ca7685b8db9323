/**
 * The front door for host applications and the command line:
 * {@link dev.glassbox.api.service.ExplanationService} lists what is installed, loads models,
 * predicts and explains, each request with a deadline.
 */
@Export
@Version("1.3.0")
package dev.glassbox.api.service;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
