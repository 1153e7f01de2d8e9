# contrib/bench/chart.gp - the benchmark's chart: every step's throughput
# (req/s) and p99 latency (ms) from results.csv, as one SVG. run.sh calls
#   gnuplot -e "csv='results.csv'; out='results.svg'; title='...'" chart.gp
# Columns: 1 step, 2 measurement, 3 connections, 4 req/s, 7 p99 ms.
set terminal svg size 1200,1000 dynamic noenhanced font "sans,11" background rgb "white"
set output out
set datafile separator ","
set style fill solid 0.7 border -1
set boxwidth 0.7
set grid ytics
set logscale y
set xtics rotate by -40 scale 0 font ",9"
set bmargin 13
set rmargin 18
set lmargin 10
unset key
lbl(s, m, c) = sprintf("%s: %s (%s)", s, m, c)
set multiplot layout 2,1 title title
set ylabel "req/s (log)"
set title "throughput"
plot csv every ::1 using 0:4:xtic(lbl(strcol(1), strcol(2), strcol(3))) with boxes lc rgb "#4472c4", \
     csv every ::1 using 0:4:(sprintf("%d", $4)) with labels offset 0,0.7 font ",8"
set ylabel "p99 ms (log)"
set title "p99 latency"
plot csv every ::1 using 0:($7 > 0 ? $7 : 0.01):xtic(lbl(strcol(1), strcol(2), strcol(3))) with boxes lc rgb "#ed7d31", \
     csv every ::1 using 0:($7 > 0 ? $7 : 0.01):(sprintf("%.1f", $7)) with labels offset 0,0.7 font ",8"
unset multiplot
