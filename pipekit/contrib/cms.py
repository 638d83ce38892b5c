"""
law's ``cms`` package. Implemented: :class:`Site` (a CMS site's tier, country and XRootD
redirector, from its name or the node's environment) and :func:`lfn_to_pfn`;
:func:`renew_vomsproxy` and :func:`delegate_myproxy` with the ``cms`` VO (through
``law.wlcg``'s credential helpers). Not supported, with one clear error when used: CMS CRAB
(:class:`CrabWorkflow`, :class:`CrabJobManager`, :class:`CrabJobFileFactory`), the CMS job
dashboard and Rucio reporting (:class:`CMSJobDashboard`, :class:`RucioReporter`,
:func:`rucio_report_access`), which need CMS's own services, and the CMSSW-specific tasks and
sandbox (:class:`BundleCMSSW`, :class:`CMSSWSandbox`), which need a CMSSW release on
``/cvmfs/cms.cern.ch``: use ``bash::setup_cmssw.sh`` (a script running ``cmsenv``) instead.
"""

from __future__ import annotations

import os
import re
from typing import Any

from pipekit.contrib._unsupported import (
    unsupported_callable,
    unsupported_class,
    unsupported_job_classes,
    unsupported_workflow,
)

__all__ = [
    "CMSSWSandbox", "CrabJobManager", "CrabJobFileFactory", "CMSJobDashboard", "CrabWorkflow",
    "BundleCMSSW", "Site", "lfn_to_pfn", "renew_vomsproxy", "delegate_myproxy", "RucioReporter",
    "rucio_report_access",
]

CRAB = "CMS CRAB submits through CMS's own services (CRAB server, glideinWMS); run crab yourself or use --workflow htcondor"
CMS_SERVICES = "it reports to CMS's monitoring services, which pipekit does not talk to"
CMSSW = ("it needs a CMSSW release from /cvmfs/cms.cern.ch; use a bash sandbox whose script "
         "sources cmsset_default.sh and runs cmsenv (sandbox = 'bash::setup_cmssw.sh')")

CrabJobManager, CrabJobFileFactory = unsupported_job_classes("Crab", CRAB, __name__)
CrabWorkflow = unsupported_workflow("CrabWorkflow", "crab", CRAB, __name__)
CMSJobDashboard = unsupported_class("CMSJobDashboard", CMS_SERVICES, module=__name__)
RucioReporter = unsupported_class("RucioReporter", CMS_SERVICES, module=__name__)
rucio_report_access = unsupported_callable("rucio_report_access", CMS_SERVICES, __name__)
CMSSWSandbox = unsupported_class("CMSSWSandbox", CMSSW, module=__name__)
BundleCMSSW = unsupported_class("BundleCMSSW", CMSSW, module=__name__)


class Site:
    """
    A CMS site (``T2_DE_RWTH``): :attr:`tier`, :attr:`country`, :attr:`locality` and the
    XRootD :attr:`redirector` to read data there. Without a name, the site of this node (the
    ``SITECONF/local`` link on cvmfs, else ``$GLIDEIN_CMSSite``), or None.
    """

    name_cre = re.compile(r"^(T\d)_([A-Z]{2})_(.+)$")
    #: XRootD redirectors by region
    redirectors = {"global": "cms-xrd-global.cern.ch", "eu": "xrootd-cms.infn.it",
                   "us": "cmsxrootd.fnal.gov"}

    @classmethod
    def validate(cls, name: str) -> bool:
        """Whether *name* is written like a CMS site name."""
        return bool(cls.name_cre.match(name))

    @classmethod
    def get_name_from_env(cls) -> str | None:
        """The site this process runs at, or None."""
        siteconf = "/cvmfs/cms.cern.ch/SITECONF/local"
        if os.path.exists(siteconf):
            name = os.path.basename(os.path.realpath(siteconf))
            if cls.validate(name):
                return name
        name = os.getenv("GLIDEIN_CMSSite")
        return name if name and cls.validate(name) else None

    def __init__(self, name: str | None = None):
        self.name = name or self.get_name_from_env()
        if self.name and not self.validate(self.name):
            raise ValueError(f"'{self.name}' is not a CMS site name (like T2_DE_RWTH)")

    def _part(self, i: int) -> str | None:
        return self.name_cre.match(self.name).group(i) if self.name else None  # type: ignore[union-attr]

    @property
    def info(self) -> tuple[str, str, str] | None:
        """``(tier, country, locality)``."""
        return self.name_cre.match(self.name).groups() if self.name else None  # type: ignore[union-attr, return-value]

    @property
    def tier(self) -> str | None:
        return self._part(1)

    @property
    def country(self) -> str | None:
        return self._part(2)

    @property
    def locality(self) -> str | None:
        return self._part(3)

    @property
    def redirector(self) -> str:
        """The redirector for this site's region (``us``), else the global one."""
        return self.redirectors.get((self.country or "").lower(), self.redirectors["global"])

    def __repr__(self) -> str:
        return f"Site({self.name!r})"


def lfn_to_pfn(lfn: str, redirector: str = "global") -> str:
    """``root://<redirector>/<lfn>`` for a CMS logical file name; *redirector*: global, eu, us."""
    if redirector not in Site.redirectors:
        raise ValueError(f"unknown redirector '{redirector}'; use one of {', '.join(Site.redirectors)}")
    return f"root://{Site.redirectors[redirector]}/{lfn}"


def renew_vomsproxy(**kwargs: Any) -> Any:
    """``law.wlcg.renew_vomsproxy`` with ``vo="cms"`` unless another VO is given."""
    from pipekit.contrib import wlcg

    kwargs.setdefault("vo", "cms")
    return wlcg.renew_vomsproxy(**kwargs)


def delegate_myproxy(**kwargs: Any) -> Any:
    """``law.wlcg.delegate_myproxy`` with ``vo="cms"`` unless another VO is given."""
    from pipekit.contrib import wlcg

    kwargs.setdefault("vo", "cms")
    return wlcg.delegate_myproxy(**kwargs)
