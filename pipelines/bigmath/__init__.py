"""Big-Math: math problems filtered down to ones with a single verifiable, closed-form answer."""
