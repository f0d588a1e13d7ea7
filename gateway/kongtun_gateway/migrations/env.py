from alembic import context

from kongtun_common.migrations import run_env
from kongtun_gateway.auth import metadata

run_env(context, metadata)
