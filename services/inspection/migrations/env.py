from jsp_common.migrations import run_env

from inspection.adapters.tables import metadata

run_env(metadata)
