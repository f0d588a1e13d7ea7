"""``python -m kongtun_reporting``: run the reporting service."""

from kongtun_common.green import monkey_patch

monkey_patch()

from pathlib import Path  # noqa: E402


def main() -> None:
    from kongtun_common.runner import run

    from .service import ReportingService

    run(ReportingService, Path(__file__).parent / "migrations")


if __name__ == "__main__":
    main()
