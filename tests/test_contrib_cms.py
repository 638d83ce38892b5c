"""law.cms: Site and lfn_to_pfn work; CRAB and the CMS services say they are not supported."""

from __future__ import annotations

import pytest

import pipekit as law
from pipekit.errors import NotSupportedError


def test_site_parts_and_redirector(monkeypatch):
    law.contrib.load("cms")
    site = law.cms.Site("T1_US_FNAL")
    assert site.info == ("T1", "US", "FNAL") and site.redirector == "cmsxrootd.fnal.gov"
    assert law.cms.Site("T2_DE_RWTH").redirector == "cms-xrd-global.cern.ch"
    monkeypatch.setenv("GLIDEIN_CMSSite", "T2_CH_CERN")
    assert law.cms.Site().name == "T2_CH_CERN"
    with pytest.raises(ValueError, match="not a CMS site name"):
        law.cms.Site("RWTH")


def test_lfn_to_pfn_uses_the_redirector():
    law.contrib.load("cms")
    assert law.cms.lfn_to_pfn("/store/data/x.root", "eu") == "root://xrootd-cms.infn.it//store/data/x.root"
    with pytest.raises(ValueError, match="unknown redirector 'asia'"):
        law.cms.lfn_to_pfn("/store/x", "asia")


def test_crab_and_cms_services_raise_one_clear_error_when_used():
    law.contrib.load("cms")
    for make in (law.cms.CrabJobManager, law.cms.CMSJobDashboard, law.cms.RucioReporter,
                 law.cms.CMSSWSandbox, law.cms.rucio_report_access):
        with pytest.raises(NotSupportedError, match="not supported by pipekit"):
            make()

    class Analysis(law.LocalWorkflow, law.cms.CrabWorkflow):  # subclassing works
        def create_branch_map(self):
            return [0]

    with pytest.raises(NotSupportedError, match="--workflow crab .*CMS CRAB"):
        Analysis(workflow="crab").workflow_proxy  # noqa: B018
    assert Analysis(workflow="local").workflow_proxy.workflow_type == "local"
