"""tests/addons holds Odoo addons (the worked example); their tests run under Odoo (./scripts/test part 2),
never under pytest."""

collect_ignore_glob = ["*"]
