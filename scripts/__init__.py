"""fmm_tools: the tools room (installed from the ``scripts/`` folder): corpus builders (``data``),
evaluation (``eval``), benchmarks (``bench``) and studies (``studies``), using the plugin
(``fmm_fairseq``) and the math (``fmm_attention``); nothing there imports this package."""
