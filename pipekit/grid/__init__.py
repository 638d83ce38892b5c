"""
Grid credentials (:mod:`pipekit.grid.credentials`): discovery of X.509 (VOMS) proxies and WLCG
bearer tokens, their lifetimes, the check remote workflows make before submitting, and the
delivery of a credential to jobs. :mod:`pipekit.grid.x509` reads proxy files;
:mod:`pipekit.grid.tools` runs the grid tools (voms-proxy-init, arcproxy) that make new ones.

law's helpers keep their names in the contrib packages: ``law.wlcg.get_vomsproxy_lifetime()``,
``law.arc.get_arcproxy_file()``, ... (:mod:`pipekit.contrib.wlcg`, :mod:`pipekit.contrib.arc`).
"""

from __future__ import annotations

__all__: list[str] = []
