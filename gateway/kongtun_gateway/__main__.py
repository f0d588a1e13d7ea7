"""``python -m kongtun_gateway``: run the gateway."""

from kongtun_common.green import monkey_patch

monkey_patch()

from pathlib import Path  # noqa: E402


def main() -> None:
    from kongtun_common.runner import run

    from .service import GatewayService

    run(GatewayService, Path(__file__).parent / "migrations")


if __name__ == "__main__":
    main()
