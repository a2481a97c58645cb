// Command caplab-crosscheck is caplab's second opinion on CP histories: it runs Porcupine
// (github.com/anishathalye/porcupine) on the register operations that `python -m chaos crosscheck`
// extracts from a run, one key per partition, and prints one verdict per key as JSON.
//
// Input (stdin or -in): {"ops": [{"key", "process", "f": "read"|"write", "value": string|null,
// "call": ns, "return": ns|null}]}. A write's value is what it wrote; a read's value is what it
// returned (null: the key was absent). A null return is an info op: it may take effect at any
// later time, so it returns at the end of time.
//
// Output (stdout, keys sorted): {"porcupine": version, "keys": {key: {"result": "Ok"|"Illegal"|"Unknown",
// "reason", "ops", "linearized", "seconds"}}, "heap_peak_bytes", "mem_limit_bytes"}.
// Exit 0 with that JSON whatever the verdicts; exit 2 on bad input or usage.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"github.com/anishathalye/porcupine"
)

const porcupineVersion = "v1.3.1"

type rawOp struct {
	Key     *string `json:"key"`
	Process int     `json:"process"`
	F       string  `json:"f"`
	Value   *string `json:"value"`
	Call    *int64  `json:"call"`
	Return  *int64  `json:"return"`
}

type keyResult struct {
	Result     string  `json:"result"`
	Reason     string  `json:"reason,omitempty"`
	Ops        int     `json:"ops"`
	Linearized int     `json:"linearized"`
	Seconds    float64 `json:"seconds"`
}

type output struct {
	Porcupine     string                `json:"porcupine"`
	Keys          map[string]*keyResult `json:"keys"`
	HeapPeakBytes uint64                `json:"heap_peak_bytes"`
	MemLimitBytes uint64                `json:"mem_limit_bytes"`
}

func main() {
	in := flag.String("in", "-", "the input JSON file (- for stdin)")
	keyTimeout := flag.Duration("key-timeout", 60*time.Second, "Porcupine's time bound per key; past it the key is Unknown")
	memMB := flag.Uint64("mem-mb", 1024, "the Go heap bound in MiB; past it the current key is Unknown")
	flag.Parse()
	if flag.NArg() != 0 || *memMB == 0 || *keyTimeout <= 0 {
		fmt.Fprintln(os.Stderr, "usage: caplab-crosscheck [-in file] [-key-timeout 60s] [-mem-mb 1024]")
		os.Exit(2)
	}
	ops, err := readOps(*in)
	if err != nil {
		fmt.Fprintf(os.Stderr, "caplab-crosscheck: %v\n", err)
		os.Exit(2)
	}
	out := &output{Porcupine: porcupineVersion, Keys: map[string]*keyResult{}, MemLimitBytes: *memMB << 20}
	var guard *guard
	guard = startGuard(out.MemLimitBytes, func() { out.HeapPeakBytes = guard.peak(); emit(out) })
	checkAll(ops, *keyTimeout, guard, out)
	out.HeapPeakBytes = guard.peak()
	emit(out)
}

// readOps decodes and validates the input; every error names the operation and what is wrong.
func readOps(path string) ([]porcupine.Operation, error) {
	var r io.Reader = os.Stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	var doc struct {
		Ops []rawOp `json:"ops"`
	}
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("input is not the expected JSON: %v", err)
	}
	ops := make([]porcupine.Operation, 0, len(doc.Ops))
	for i, o := range doc.Ops {
		if o.Key == nil || o.Call == nil || (o.F != "read" && o.F != "write") {
			return nil, fmt.Errorf("op %d: needs key, call and f (read or write)", i)
		}
		ret := int64(math.MaxInt64)
		if o.Return != nil {
			ret = *o.Return
		}
		if ret < *o.Call {
			return nil, fmt.Errorf("op %d: returns at %d, before its call at %d", i, ret, *o.Call)
		}
		op := porcupine.Operation{ClientId: o.Process, Call: *o.Call, Return: ret}
		if o.F == "write" {
			op.Input = input{Key: *o.Key, Write: true, Value: toRegister(o.Value)}
		} else {
			op.Input = input{Key: *o.Key}
			op.Output = toRegister(o.Value)
		}
		ops = append(ops, op)
	}
	return ops, nil
}

// checkAll splits the history with the model's partition by key and checks each key in turn,
// so every key gets its own verdict and its own time bound, and a key's memory is freed before
// the next one starts.
func checkAll(ops []porcupine.Operation, timeout time.Duration, guard *guard, out *output) {
	model := registerModel(guard)
	parts := model.Partition(ops)
	for _, part := range parts {
		out.set(part[0].Input.(input).Key, &keyResult{Result: "Unknown", Reason: "not checked: the heap reached twice the bound and the program stopped", Ops: len(part)})
	}
	for _, part := range parts {
		key := part[0].Input.(input).Key
		guard.begin()
		started := time.Now()
		res := porcupine.CheckOperationsTimeout(model, part, timeout)
		kr := &keyResult{Result: string(res), Ops: len(part), Seconds: time.Since(started).Seconds()}
		if guard.tripped() {
			kr.Result, kr.Reason = string(porcupine.Unknown), fmt.Sprintf("heap over the %d MiB bound", out.MemLimitBytes>>20)
		} else if res == porcupine.Unknown {
			kr.Reason = fmt.Sprintf("time bound of %s reached", timeout)
		} else if res == porcupine.Illegal {
			// Only now pay for the partial linearizations: they take twice the time.
			if again, info := porcupine.CheckOperationsVerbose(model, part, timeout); again == res && !guard.tripped() {
				kr.Linearized = longestPartial(info)
			}
		} else {
			kr.Linearized = len(part)
		}
		out.set(key, kr)
		guard.end()
	}
}

func longestPartial(info porcupine.LinearizationInfo) int {
	n := 0
	for _, partition := range info.PartialLinearizations() {
		for _, lin := range partition {
			if len(lin) > n {
				n = len(lin)
			}
		}
	}
	return n
}

func emit(out *output) {
	outMu.Lock()
	defer outMu.Unlock()
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	_ = enc.Encode(out)
}
