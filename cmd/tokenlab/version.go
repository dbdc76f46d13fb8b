package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/tokenlab/tokenlab/device"
)

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print tokenlab's version and build features",
		Args:  noArgs,
		RunE: a.runE(func(*cobra.Command, []string) error {
			v := "(devel)"
			if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
				v = info.Main.Version
			}
			usb := "without USB support"
			if device.USBSupported {
				usb = "with USB support"
			}
			_, err := fmt.Fprintf(a.stdout, "tokenlab %s, built %s\n", v, usb)
			return err
		}),
	}
}
