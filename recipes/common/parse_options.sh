# Shared option parsing for recipes/<dataset>/run.sh (sourced, not run).
# Every variable set before sourcing can be overridden as --name value
# (underscores or dashes), e.g. --stage 2 --stop-stage 3 --conf conf/debug.yaml.
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help)
      echo "usage: $0 [--stage N] [--stop-stage M] [--conf FILE] [--exp DIR] [--dump DIR] [--jobs N] ..."
      echo "stages: ${STAGES_HELP:-see run.sh}"
      exit 0 ;;
    --*)
      name=$(echo "${1#--}" | tr '-' '_')
      if [ -z "${!name+x}" ]; then echo "$0: unknown option $1" >&2; exit 2; fi
      if [ $# -lt 2 ]; then echo "$0: option $1 needs a value" >&2; exit 2; fi
      printf -v "$name" '%s' "$2"; shift 2 ;;
    *) echo "$0: unexpected argument $1" >&2; exit 2 ;;
  esac
done
