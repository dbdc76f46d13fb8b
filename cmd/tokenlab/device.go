package main

import (
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/tokenlab/tokenlab/device"
)

func (a *app) deviceCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "device",
		Short: "Find real keys: USB keyboard-style keys and serial devices",
		Args:  noArgs,
		RunE:  groupRunE,
	}
	cmd.AddCommand(a.deviceListCommand(), a.deviceReadCommand())
	return cmd
}

func (a *app) deviceListCommand() *cobra.Command {
	var (
		ids    []string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "list [--usb VID:PID]... [--json]",
		Short: "List USB keys (Yubico's by default) and serial ports",
		Args:  noArgs,
		RunE: a.runE(func(*cobra.Command, []string) error {
			want := []device.ID{{Vendor: device.YubicoVendor}}
			if len(ids) > 0 {
				want = want[:0]
				for _, s := range ids {
					id, err := device.ParseID(s)
					if err != nil {
						return usageError{err}
					}
					want = append(want, id)
				}
			}
			keys, usbErr := device.ListUSB(want...)
			ports, serialErr := device.ListSerial()
			if usbErr != nil && !errors.Is(usbErr, device.ErrNoUSBSupport) {
				return usbErr
			}
			if serialErr != nil {
				return serialErr
			}
			if asJSON {
				type usbJSON struct {
					ID      string `json:"id"`
					Bus     int    `json:"bus"`
					Address int    `json:"address"`
				}
				type serialJSON struct {
					Path    string `json:"path"`
					USBID   string `json:"usb_id,omitempty"`
					Serial  string `json:"serial_number,omitempty"`
					Product string `json:"product,omitempty"`
				}
				out := struct {
					USBSupported bool         `json:"usb_supported"`
					USB          []usbJSON    `json:"usb"`
					Serial       []serialJSON `json:"serial"`
				}{USBSupported: device.USBSupported, USB: []usbJSON{}, Serial: []serialJSON{}}
				for _, k := range keys {
					out.USB = append(out.USB, usbJSON{k.ID.String(), k.Bus, k.Address})
				}
				for _, p := range ports {
					sj := serialJSON{Path: p.Name, Serial: p.SerialNumber, Product: p.Product}
					if p.USB {
						sj.USBID = p.ID.String()
					}
					out.Serial = append(out.Serial, sj)
				}
				return writeJSON(a, out)
			}
			w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "KIND\tWHERE\tID\tDETAIL")
			switch {
			case usbErr != nil:
				fmt.Fprintf(a.stderr, "USB keys: %v\n", usbErr)
			case len(keys) == 0:
				fmt.Fprintf(a.stderr, "no USB keys matching %v\n", want)
			}
			for _, k := range keys {
				fmt.Fprintf(w, "usb\tbus %d address %d\t%s\t\n", k.Bus, k.Address, k.ID)
			}
			for _, p := range ports {
				id := "-"
				if p.USB {
					id = p.ID.String()
				}
				fmt.Fprintf(w, "serial\t%s\t%s\t%s\n", p.Name, id, p.Product)
			}
			if len(ports) == 0 {
				fmt.Fprintln(a.stderr, "no serial ports")
			}
			return w.Flush()
		}),
	}
	cmd.Flags().StringSliceVar(&ids, "usb", nil, "USB VID:PID to look for, in hex (default any Yubico key, 1050)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the devices as JSON")
	return cmd
}
