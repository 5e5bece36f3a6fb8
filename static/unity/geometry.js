// The one mapping between the screen and image pixels, for every mode that draws on a frame.
//
// A frame of `width` x `height` image pixels is shown "contained" in a box: scaled uniformly to
// fit, centred, with bars where the aspect ratios differ (the canvas with object-fit: contain and
// the SVG overlay with preserveAspectRatio="xMidYMid meet" do exactly this). The box is the
// element's getBoundingClientRect(), which already includes every CSS transform on the way (zoom
// and pan), so the mapping holds zoomed, panned, at any device pixel ratio and after a resize.
// Image coordinates are continuous: pixel i spans [i, i + 1), its centre is i + 0.5.

// Where the image lies inside `box` (client pixels), and client pixels per image pixel.
export function containedRect(box, width, height) {
  const scale = Math.min(box.width / width, box.height / height);
  const shownWidth = width * scale;
  const shownHeight = height * scale;
  return {
    left: box.left + (box.width - shownWidth) / 2,
    top: box.top + (box.height - shownHeight) / 2,
    width: shownWidth,
    height: shownHeight,
    scale,
  };
}

// Client point -> image point. `inside` is false on the bars or beyond the image's edges.
export function clientToImage(box, width, height, clientX, clientY) {
  const rect = containedRect(box, width, height);
  const x = (clientX - rect.left) / rect.scale;
  const y = (clientY - rect.top) / rect.scale;
  return { x, y, inside: x >= 0 && y >= 0 && x <= width && y <= height };
}

