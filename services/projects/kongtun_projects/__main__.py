"""``python -m kongtun_projects``: run the projects service."""

from kongtun_common.green import monkey_patch

monkey_patch()

from pathlib import Path  # noqa: E402


def main() -> None:
    from kongtun_common.runner import run

    from .service import ProjectsService

    run(ProjectsService, Path(__file__).parent / "migrations")


if __name__ == "__main__":
    main()
