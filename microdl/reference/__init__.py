"""Plain numpy reference implementations of microdl's integer kernels: what each op
means, written for clarity, used as test oracles next to LiteRT."""
