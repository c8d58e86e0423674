# Sourced by scripts/test and scripts/lint: the Python environment the tests and linters run in.
#
# By default a virtual environment of the repository's own (git-ignored .venv/<name>) so that a system Python
# under PEP 668 ("externally-managed-environment") never gets in the way. It holds requirements.txt,
# requirements-test.txt and requirements-lint.txt at the versions of requirements/constraints.txt and, when
# ODOO_PATH names an Odoo source tree, that series' Python dependencies (requirements/odoo-<series>.txt). When
# Odoo is importable by the system Python instead (the Odoo Docker image, a deb install), the venv sees the
# system's site-packages, so Odoo and its dependencies come from there.
#
#   WECOM_VENV=DIR        use (or create) that venv instead of .venv/<name>
#   WECOM_NEWEST=1        newest releases of lxml, requests, cryptography and cachetools (their pins dropped)
#   WECOM_SKIP_INSTALL=1  no venv and no pip at all: $PYTHON (default python3) must have everything already
#
# Sets PY (the interpreter to use) and puts its bin/ first on PATH.

wecom_pyenv() {
    local repo="$1" base="${PYTHON:-python3}" series="" name system_site="" stamp want reqs constraints
    if [ "${WECOM_SKIP_INSTALL:-0}" = 1 ]; then
        PY="$(command -v "$base")"
        return 0
    fi
    if [ -n "${ODOO_PATH:-}" ]; then
        series="$("$base" "$repo/tests/odoo_locate.py" --series "$ODOO_PATH")"
        if [ -z "$series" ]; then
            echo "ODOO_PATH=$ODOO_PATH holds no Odoo source tree (no odoo/release.py)." >&2
            return 2
        fi
        if [ ! -f "$repo/requirements/odoo-$series.txt" ]; then
            echo "Odoo $series is not supported (requirements/odoo-$series.txt is missing)." >&2
            return 2
        fi
        name="odoo-$series"
    elif "$base" -c "import odoo" >/dev/null 2>&1; then
        name="system-odoo"; system_site="--system-site-packages"
    else
        name="plain"
    fi
    [ "${WECOM_NEWEST:-0}" = 1 ] && name="$name-newest"
    local venv="${WECOM_VENV:-$repo/.venv/$name}"
    if [ ! -x "$venv/bin/python" ]; then
        echo "Creating the virtual environment $venv"
        if ! "$base" -m venv $system_site "$venv"; then
            echo "Cannot create a virtual environment with $base (Debian/Ubuntu: apt-get install python3-venv)." >&2
            return 1
        fi
    fi
    PY="$venv/bin/python"
    export PATH="$venv/bin:$PATH" VIRTUAL_ENV="$venv"
    reqs=(-r "$repo/requirements.txt" -r "$repo/requirements-test.txt" -r "$repo/requirements-lint.txt")
    constraints="$repo/requirements/constraints.txt"
    local odoo_reqs="$repo/requirements/odoo-$series.txt"
    if [ "${WECOM_NEWEST:-0}" = 1 ]; then
        constraints="$venv/constraints-newest.txt" odoo_reqs="$venv/odoo-newest.txt"
        grep -viE '^(lxml|requests|cryptography|cachetools)==' "$repo/requirements/constraints.txt" > "$constraints"
        [ -n "$series" ] && grep -viE '^(lxml|requests|cryptography|cachetools|urllib3|idna|pyopenssl)==' \
            "$repo/requirements/odoo-$series.txt" > "$odoo_reqs"
    fi
    # install again only when a requirements file changed (a stamp of their contents in the venv)
    want="$(cat "$repo"/requirements*.txt "$repo"/requirements/*.txt | cksum) newest=${WECOM_NEWEST:-0}"
    stamp="$venv/.wecom-requirements"
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        echo "Installing the test requirements into $venv"
        local upgrade=()
        [ "${WECOM_NEWEST:-0}" = 1 ] && upgrade=(--upgrade lxml requests cryptography cachetools)
        if [ -n "$series" ]; then
            # Odoo's own pins win over the test constraints where both name a package
            "$PY" -m pip install --quiet --disable-pip-version-check -r "$odoo_reqs" || return 1
        fi
        "$PY" -m pip install --quiet --disable-pip-version-check -c "$constraints" "${reqs[@]}" "${upgrade[@]}" \
            || return 1
        echo "$want" > "$stamp"
    fi
    return 0
}
