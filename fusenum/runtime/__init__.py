"""The runtime: plans, their execution, threads and the kernel cache.

``frontend`` builds typed IR and asks this stage for a plan
(:func:`cached_plan`, the plan cache both front ends share) and for its result
(:func:`execute`). A plan runs its kernels -- asked for by
:class:`~fusenum.codegen.spec.KernelSpec` from :mod:`.kernels` -- over
broadcast, coalesced operands (:mod:`.layout`), in stages when it has
reductions (:mod:`.staging`), on several threads when it is big
(:mod:`.threads`). A call with no kernel at hand runs in the interpreter while the
kernel compiles in the background (:mod:`.tiering`, :mod:`.interpreter`). Kernels are
kept on disk too (:mod:`.disk_cache`, read and written through :mod:`.stored_code`),
for every process of the user on the machine; :mod:`.prebuilt` fills it with tier 0's kernels ahead of need
(imported when first used, as ``fusenum.prebuild``),
and a helper process finishes there the compiles a process leaves at its exit (:mod:`.exit_compiles`,
:mod:`.exit_helper`), and prebuilds after a machine's first use (:mod:`.first_use`). Every cache
registers with :mod:`.caches`, so :func:`clear_cache` reaches them all.
"""
from .caches import clear_cache
from .disk_cache import DiskCache, clear_disk_cache, get_disk_cache, set_disk_cache
from .elementwise import execute
from .kernels import CacheInfo, cache_info
from .plan import Plan
from .plan_cache import PLANS, Template, cached_plan
from .threads import get_num_threads, set_num_threads
from .tiering import get_tiering, set_tiering

__all__ = ["PLANS", "CacheInfo", "DiskCache", "Plan", "Template", "cache_info", "cached_plan",
           "clear_cache", "clear_disk_cache", "execute", "get_disk_cache", "get_num_threads", "get_tiering",
           "set_disk_cache", "set_num_threads", "set_tiering"]
