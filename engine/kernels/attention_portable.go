//go:build !(goexperiment.simd && amd64)

package kernels

func attendSIMD(out, q, keys, values []float32, n, stride int, scale float32, scores []float32) bool {
	return false
}

func attendGroupSIMD(out, q []float32, g int, keys, values []float32, n, stride int, scale float32, scores []float32) bool {
	return false
}
