from __future__ import annotations

import sys

from the402_mcp.main import main

sys.exit(main())
