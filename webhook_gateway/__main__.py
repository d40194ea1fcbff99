from __future__ import annotations

import sys

from webhook_gateway.cli.main import main

sys.exit(main())
