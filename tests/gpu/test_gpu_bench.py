"""benchmarks/bench_gpu.py: the CPU/GPU comparison runs on a device (the stand-in here,
so only its logic is checked, not any speed) and skips cleanly without one."""

import subprocess
import sys
from pathlib import Path

import numpy as np

from dezero import cuda

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks import bench_gpu  # noqa: E402


class _NoWait:
    """A device whose synchronize() has nothing to wait for (the stand-in's)."""

    def synchronize(self):
        pass


def test_both_sides_compute_the_same_training_steps(xp_device, monkeypatch):
    if xp_device.name == 'fake':
        monkeypatch.setattr(xp_device.xp.cuda, 'Device', _NoWait, raising=False)
    result = bench_gpu.run(hidden=16, batch=8, repeat=1, xp=xp_device.xp, steps=1)
    cpu_loss, gpu_loss = result['first_losses']
    np.testing.assert_allclose(gpu_loss, cpu_loss, rtol=1e-5)
    assert result['ratio_cpu_gpu'] > 0
    assert 'CPU / GPU:' in bench_gpu.report(result)
    model, _, x, _ = bench_gpu.make_side(16, 8, xp_device.xp)
    assert xp_device.is_device(x)
    assert all(xp_device.is_device(p.data) for p in model.params())


def test_without_a_gpu_the_script_says_why_and_exits_0():
    if cuda.gpu_enable:
        return  # a GPU is here: the script would time it
    out = subprocess.run(
        [sys.executable, str(ROOT / 'benchmarks' / 'bench_gpu.py')],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0
    assert out.stdout.startswith('bench_gpu: cannot move data to a GPU: ')
    assert 'nothing was timed' in out.stdout
