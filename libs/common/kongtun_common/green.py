"""Eventlet first: nameko needs a monkey-patched standard library.

Call :func:`monkey_patch` before anything else imports sockets or threads.
Eventlet warns that it is deprecated; nameko 2 still needs it (see
docs/architecture.md), so the warning is silenced here, once.
"""

import warnings


def quiet_eventlet_warning() -> None:
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")


def monkey_patch() -> None:
    quiet_eventlet_warning()
    import eventlet

    eventlet.monkey_patch()
