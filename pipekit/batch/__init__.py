"""
Batch-system backends of remote workflows, one module each: :mod:`pipekit.batch.slurm`,
``htcondor``, ``sge`` (Grid Engine) and ``lsf`` (what their commands print is read in the
``*_status`` modules beside them; what the array backends share is :mod:`pipekit.job.arrays`).
Each implements :class:`pipekit.job.base.BaseJobManager` and
:class:`pipekit.job.base.BaseJobFileFactory` and a workflow mixin; the job loop, ledger, specs and
node entry point are shared. Users import them through the law-style facades in
:mod:`pipekit.contrib` (``law.contrib.load("slurm")`` then ``law.slurm``, or ``pipekit.slurm``).
"""
