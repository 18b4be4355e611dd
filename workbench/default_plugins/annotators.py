"""The built-in simulated personas (see :mod:`workbench.simulate`)."""

from workbench.api import Persona, hookimpl

PERSONAS = (
    Persona("expert", 0.95, "a domain expert: right about 95% of the time", pace=0.04),
    Persona("careful", 0.85, "a careful annotator: right about 85% of the time", pace=0.06),
    Persona("hasty", 0.65, "a hasty annotator: right about 65% of the time", pace=0.02),
    Persona("spammer", 0.0, "always gives the same answer (or `lean` if set)", behaviour="constant", pace=0.005),
    Persona("random", 0.0, "answers uniformly at random", behaviour="random", pace=0.005),
    Persona("biased", 0.85, "careful, but gives its favourite label (`lean`) 40% of the time the truth differs",
            behaviour="biased", strength=0.4, pace=0.05),
)


@hookimpl(trylast=True)
def register_annotators(register):
    for persona in PERSONAS:
        register(persona)
