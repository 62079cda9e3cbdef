"""Operations: read models over every context (Prometheus metrics, the console's fleet page)."""
