/// The UI's one stylesheet, served at `/ui/style.css`. No script anywhere: every page works
/// without JavaScript, and the Content-Security-Policy forbids scripts outright.
enum UIStyle {
    static let css = """
        :root { --fg: #1d232b; --muted: #5d6b7a; --line: #d8dee6; --accent: #2563a8; --shared: #6aa56a; --own: #2563a8; }
        * { box-sizing: border-box; }
        body { font: 14px/1.45 system-ui, sans-serif; color: var(--fg); margin: 0; }
        header { background: #1d2f45; color: #fff; padding: .6rem 1.2rem; display: flex; gap: 1.5rem; align-items: baseline; }
        header a { color: #fff; text-decoration: none; font-weight: 600; }
        main { padding: 1rem 1.2rem 3rem; max-width: 1200px; }
        h1 { font-size: 1.35rem; margin: .4rem 0 1rem; word-break: break-all; }
        h2 { font-size: 1.05rem; margin: 1.6rem 0 .5rem; }
        a { color: var(--accent); }
        table { border-collapse: collapse; width: 100%; }
        th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
        th { color: var(--muted); font-weight: 600; font-size: .85rem; }
        code, .digest { font-family: ui-monospace, monospace; font-size: .85rem; word-break: break-all; }
        .muted { color: var(--muted); }
        .totals { display: flex; gap: 2rem; margin-bottom: 1rem; }
        .totals div { background: #f3f6f9; padding: .5rem .8rem; border-radius: 4px; }
        svg.layers { display: block; width: 100%; height: 28px; border: 1px solid var(--line); margin: .4rem 0 .3rem; }
        svg.layers rect { stroke: #fff; stroke-width: 2px; vector-effect: non-scaling-stroke; }
        .own { fill: var(--own); background: var(--own); }
        .shared { fill: var(--shared); background: var(--shared); }
        svg.layers a:hover rect { opacity: .75; }
        .legend .swatch { display: inline-block; width: .8rem; height: .8rem; margin: 0 .3rem 0 1rem; vertical-align: middle; }
        form.search input[type=search] { padding: .3rem .5rem; width: 20rem; }
        pre { background: #f3f6f9; padding: .6rem; overflow-x: auto; }
        dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
        dt { color: var(--muted); }
        dd { margin: 0; word-break: break-all; }
        form.inline { display: inline; margin-left: .6rem; }
        header .muted { color: #c9d3df; }
        header a.muted, header span a { color: #fff; font-weight: normal; }
        form.login { display: grid; grid-template-columns: max-content 16rem; gap: .5rem 1rem; align-items: center; max-width: 30rem; }
        form.login button, form.confirm button { grid-column: 2; padding: .35rem; }
        .error { color: #a4161a; }
        """
}
