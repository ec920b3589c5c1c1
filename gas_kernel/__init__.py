"""The kernel of gas: the vocabulary every other package shares, importing nothing else of gas.

    errors       GasError, the one exception for mistakes a user can fix
    blueprint    the contract every space's blueprint meets
    cost         Cost, the analytic price of a blueprint
    budget       hard budgets (`flops=1G`, `latency=20ms`) and their checks
    objectives   what a search optimises, with directions

`search_spaces/` and `evaluators/` build on it, the search (`gas/`) on all three. It is a package
of its own, not `gas.kernel`, because importing `gas.kernel.x` would first run `gas/__init__`, the
top of the stack; here a space or an evaluator imports the kernel and nothing above it.
"""
