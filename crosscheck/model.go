package main

import (
	"hash/fnv"
	"sort"
	"sync"

	"github.com/anishathalye/porcupine"
)

// register is one key's state: absent, or present with a value. It is comparable, so states
// compare with ==.
type register struct {
	Present bool
	Value   string
}

// input is one operation's call: a write of Value, or a read (whose result is the output).
type input struct {
	Key   string
	Write bool
	Value register
}

func toRegister(v *string) register {
	if v == nil {
		return register{}
	}
	return register{Present: true, Value: *v}
}

// registerModel is a read/write register per key, starting absent; Porcupine partitions by key.
// While the memory guard has tripped every step is refused, so the search unwinds at once
// without growing its cache; the key's result is then reported Unknown, never Illegal.
func registerModel(g *guard) porcupine.Model {
	return porcupine.Model{
		Partition: partitionByKey,
		Init:      func() interface{} { return register{} },
		Step: func(state, in, out interface{}) (bool, interface{}) {
			if g.tripped() {
				return false, state
			}
			i := in.(input)
			if i.Write {
				return true, i.Value
			}
			return out.(register) == state.(register), state
		},
		Hash: func(state interface{}) uint64 {
			r := state.(register)
			h := fnv.New64a()
			if r.Present {
				h.Write([]byte{1})
				h.Write([]byte(r.Value))
			}
			return h.Sum64()
		},
		DescribeOperation: func(in, out interface{}) string {
			i := in.(input)
			if i.Write {
				return "write " + describe(i.Value)
			}
			return "read -> " + describe(out.(register))
		},
		DescribeState: func(state interface{}) string { return describe(state.(register)) },
	}
}

func describe(r register) string {
	if !r.Present {
		return "absent"
	}
	return "'" + r.Value + "'"
}

// partitionByKey splits a history into one partition per key, keys in sorted order.
func partitionByKey(history []porcupine.Operation) [][]porcupine.Operation {
	byKey := map[string][]porcupine.Operation{}
	for _, op := range history {
		k := op.Input.(input).Key
		byKey[k] = append(byKey[k], op)
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([][]porcupine.Operation, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, byKey[k])
	}
	return parts
}

var outMu sync.Mutex

func (o *output) set(key string, r *keyResult) {
	outMu.Lock()
	defer outMu.Unlock()
	o.Keys[key] = r
}
