package contrast

import "testing"

// BenchmarkReferenceStep times one reference step (forward, backward and
// Adam update of both encoders; see ReferenceConfig).
func BenchmarkReferenceStep(b *testing.B) {
	tr, views, err := NewReferenceTrainer(ReferenceConfig(), 128, 32, 1)
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Close()
	v1, v2 := views()
	if _, err := tr.Step(v1, v2); err != nil { // warm-up: first-run allocations
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := tr.Step(v1, v2); err != nil {
			b.Fatal(err)
		}
	}
}
