package dev.glassbox.api.lrp;

/**
 * The request's values for rules written without parameters ({@code --epsilon}, {@code --gamma},
 * {@code --low}, {@code --high}, {@code --alpha}, {@code --beta}).
 */
public record RuleDefaults(double epsilon, double gamma, double low, double high, double alpha, double beta) {
}
