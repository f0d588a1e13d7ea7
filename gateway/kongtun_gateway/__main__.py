"""``python -m kongtun_gateway``: run the gateway."""

from kongtun_common.green import monkey_patch

monkey_patch()


def main() -> None:
    from kongtun_common.runner import run

    from .service import GatewayService

    run(GatewayService)


if __name__ == "__main__":
    main()
