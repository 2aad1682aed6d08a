# tests/bench/timeline.awk: phases of one container start from a trace of
#   strace -f --seccomp-bpf -ttt -s 256 -e trace=execve,clone,clone3,exit_group,wait4
# of lithos_cmd or lxc-execute running /bin/true.  Prints one line of
# durations in ms (tab-separated, "-" when the phase does not exist):
#   before   exec of the client -> first fork of a hook or the container
#            clone3 (process start; for lithos_cmd also YAML, compile, write)
#   pre      pre-start hook (LXC's fork + sh -c + lithos_hook)
#   setup1   end of pre-start -> clone3 (cgroups and other LXC preparation)
#   setup2   clone3 -> execve of /bin/true (namespaces, mounts, network,
#            idmap, lxc-init)
#   run      /bin/true itself
#   down     /bin/true's exit -> fork of the post-stop hook, or the client's
#            exit when there is none (cgroup and network teardown)
#   post     post-stop hook
#   after    end of post-stop -> exit of the client (lithos_cmd's cleanup)
#   total    exec -> exit of the client
#   idmap    how many times LXC ran newuidmap/newgidmap (its `sh -c` for them)
function ms(a, b) { return (a == "" || b == "") ? "-" : sprintf("%.2f", (b - a) * 1000) }
NR == 1 { main = $1; t0 = $2 }
{
	pid = $1; t = $2
	if (pid == main && ($3 ~ /^clone\(/ || $0 ~ /<\.\.\. clone resumed>/) && $NF ~ /^[0-9]+$/)
		forked[$NF] = t
	if ($0 ~ /execve\(.*lithos_hook.*"pre-start"/) pre_pid = pid
	if ($0 ~ /execve\(.*lithos_hook.*"post-stop"/) post_pid = pid
	if (pid == main && $0 ~ /wait4/ && $NF ~ /^[0-9]+$/) reaped[$NF] = t
	if (pid == main && $3 ~ /^clone3\(/ && clone3 == "") clone3 = t
	if ($0 ~ /execve\("\/bin\/true"/ && $NF == "0") { tpid = pid; ttrue = t }
	if (tpid != "" && pid == tpid && $3 ~ /^exit_group/ && texit == "") texit = t
	if (pid == main && $0 ~ /\+\+\+ exited/) tend = t
	if ($0 ~ /execve\("\/bin\/sh", \["sh", "-c", "new[ug]idmap/) idmap++
}
END {
	pre0 = pre_pid != "" ? forked[pre_pid] : ""
	pre1 = pre_pid != "" ? reaped[pre_pid] : ""
	post0 = post_pid != "" ? forked[post_pid] : ""
	post1 = post_pid != "" ? reaped[post_pid] : ""
	first = pre0 != "" ? pre0 : clone3
	printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n", ms(t0, first), ms(pre0, pre1),
		ms(pre1 != "" ? pre1 : first, clone3), ms(clone3, ttrue), ms(ttrue, texit),
		ms(texit, post0 != "" ? post0 : tend), ms(post0, post1), ms(post1, tend), ms(t0, tend),
		idmap + 0
}
