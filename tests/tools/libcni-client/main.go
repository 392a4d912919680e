// libcni-client: drives a CNI plugin through libcni, exactly as a container
// runtime does (podman, containerd and cnitool all call these functions).
// Built by scripts/setup.sh from Debian's golang-github-appc-cni-dev (libcni
// 1.1.x; its cnitool is not packaged). Used by the CNI integration tests.
//
//	libcni-client [flags] load|validate|add|check|del|cached CONF
//
// CONF is a network config list (.conflist) or a single config (.conf); flags:
// -path (CNI_PATH), -cache (libcni's result cache), -netns, -id, -ifname,
// -args "K=V;K=V" (CNI_ARGS), -cap JSON (capability args: runtimeConfig).
// A failure prints the error on stdout as JSON ({"error": text, "code": N}
// for a plugin's CNI error) and exits 1.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
)

func fail(err error) {
	out := map[string]interface{}{"error": err.Error()}
	var cniErr *types.Error
	if errors.As(err, &cniErr) {
		out["code"] = cniErr.Code
		out["msg"] = cniErr.Msg
	}
	_ = json.NewEncoder(os.Stdout).Encode(out)
	os.Exit(1)
}

func loadList(path string) (*libcni.NetworkConfigList, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var probe map[string]interface{}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, err
	}
	if _, ok := probe["plugins"]; ok {
		return libcni.ConfListFromBytes(data)
	}
	conf, err := libcni.ConfFromBytes(data)
	if err != nil {
		return nil, err
	}
	return libcni.ConfListFromConf(conf)
}

func main() {
	path := flag.String("path", os.Getenv("CNI_PATH"), "plugin directories, ':'-separated")
	cache := flag.String("cache", "", "libcni's cache directory")
	netns := flag.String("netns", "", "the container's network namespace (path)")
	id := flag.String("id", "", "container id")
	ifname := flag.String("ifname", "eth0", "interface name in the container")
	args := flag.String("args", "", "CNI_ARGS: K=V;K=V")
	capArgs := flag.String("cap", "", "capability args as JSON (runtimeConfig)")
	flag.Parse()
	if flag.NArg() != 2 {
		fail(fmt.Errorf("usage: libcni-client [flags] load|validate|add|check|del|cached CONF"))
	}
	command, confPath := flag.Arg(0), flag.Arg(1)
	list, err := loadList(confPath)
	if err != nil {
		fail(err)
	}
	rt := &libcni.RuntimeConf{ContainerID: *id, NetNS: *netns, IfName: *ifname,
		CapabilityArgs: map[string]interface{}{}}
	if *args != "" {
		for _, kv := range strings.Split(*args, ";") {
			k, v, _ := strings.Cut(kv, "=")
			rt.Args = append(rt.Args, [2]string{k, v})
		}
	}
	if *capArgs != "" {
		if err := json.Unmarshal([]byte(*capArgs), &rt.CapabilityArgs); err != nil {
			fail(err)
		}
	}
	cni := libcni.NewCNIConfigWithCacheDir(strings.Split(*path, ":"), *cache, nil)
	ctx := context.Background()
	var out interface{}
	switch command {
	case "load":
		types := []string{}
		for _, p := range list.Plugins {
			types = append(types, p.Network.Type)
		}
		out = map[string]interface{}{"name": list.Name, "cniVersion": list.CNIVersion, "types": types}
	case "validate":
		caps, err := cni.ValidateNetworkList(ctx, list)
		if err != nil {
			fail(err)
		}
		out = map[string]interface{}{"capabilities": caps}
	case "add":
		res, err := cni.AddNetworkList(ctx, list, rt)
		if err != nil {
			fail(err)
		}
		out = res
	case "check":
		if err := cni.CheckNetworkList(ctx, list, rt); err != nil {
			fail(err)
		}
		out = map[string]interface{}{}
	case "del":
		if err := cni.DelNetworkList(ctx, list, rt); err != nil {
			fail(err)
		}
		out = map[string]interface{}{}
	case "cached":
		res, err := cni.GetNetworkListCachedResult(list, rt)
		if err != nil {
			fail(err)
		}
		out = res
	default:
		fail(fmt.Errorf("unknown command %q", command))
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fail(err)
	}
}
